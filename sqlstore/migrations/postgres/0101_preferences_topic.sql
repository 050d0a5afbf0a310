-- Lets topic audiences page through a topic's subscribers in user id order.
CREATE INDEX preferences_topic ON preferences (topic, user_id);
