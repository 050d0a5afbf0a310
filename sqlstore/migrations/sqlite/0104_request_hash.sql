-- request_hash is the Fingerprint of the request a notification was
-- created with: a later request reusing its idempotency key with another
-- fingerprint is refused. Rows from before have '' and match any request.
ALTER TABLE notifications ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
-- welcome marks the bot's own welcome messages, which listings can leave
-- out (herald.NotificationRequest.IsWelcome).
ALTER TABLE notifications ADD COLUMN welcome BOOLEAN NOT NULL DEFAULT false;
UPDATE notifications SET welcome = true
WHERE json_extract(request, '$.title') = 'Welcome' AND json_extract(request, '$.content.summary') = 'Welcome'
  AND json_extract(request, '$.critical') = 1 AND json_extract(request, '$.priority') = 'high'
  AND coalesce(json_extract(request, '$.topic'), '') = '' AND coalesce(json_extract(request, '$.key'), '') = '';
