"""Read models: one module per question, fed by events, writing through a port; no driver here."""
