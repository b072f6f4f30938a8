"""Everything that touches Postgres, the broker, the clock and keys; wires the inner layers together."""
