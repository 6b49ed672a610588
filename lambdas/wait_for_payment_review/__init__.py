"""WaitForPaymentReview task: stores the review's task token and announces PaymentReviewRequested."""
