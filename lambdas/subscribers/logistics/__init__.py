"""OrderCompleted (shipped orders) -> a delivery partner booked, ShipmentAssigned published (once per order)."""
