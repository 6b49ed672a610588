"""ReleaseStock: compensation that returns an order's held units to stock."""
