"""ReserveStock: holds every line of an order in the warehouse that serves its address."""
