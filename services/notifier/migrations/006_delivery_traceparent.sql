-- The trace context a delivery was queued in (shared/tracing.py): its webhook POSTs carry it as the
-- W3C traceparent header, so a receiver's trace continues the command's. Null for deliveries queued
-- before, and for those queued outside any trace.
ALTER TABLE deliveries ADD COLUMN traceparent text;
