-- The index of memberships by user carries the team too, so a directory
-- health report can scan the users once and find each one's teams from
-- the index alone.
DROP INDEX memberships_user;
CREATE INDEX memberships_user ON memberships (user_id, team_id);
