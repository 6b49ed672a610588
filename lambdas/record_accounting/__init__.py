"""RecordAccounting: books the order's sale in the double-entry ledger, once."""
