-- The group list counts each group's present members: only the present rows of the group, in
-- an index holding nothing else (written on joins and leaves, untouched by messages).
CREATE INDEX memberships_present_by_chat ON memberships (workspace, platform, chat) WHERE present = 1;
-- The group table's leaves per group and day, told apart by how: only leave events are in it,
-- and it holds every column that read needs, so the read never visits the log's rows. It
-- replaces the narrower leaves index of 0029 where that one exists.
DROP INDEX IF EXISTS events_left_by_day;
CREATE INDEX events_leaves_by_day ON events (workspace, day, platform, chat, json_extract(payload, '$.how'))
    WHERE kind = 'member_left';
