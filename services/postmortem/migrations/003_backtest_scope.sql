-- Policy back-testing: the incidents declared in a period (a back-test's scope) without reading the
-- whole timeline.
CREATE INDEX timeline_declarations ON timeline (at) WHERE type = 'warroom.incident.declared.v1';
