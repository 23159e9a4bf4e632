-- The group list counts each group's present members: only the present rows of the group, in
-- an index holding nothing else (written on joins and leaves; messages update neither its
-- columns nor its predicate, so their updates stay HOT).
CREATE INDEX memberships_present_by_chat ON memberships (workspace, platform, chat) WHERE present = 1;
