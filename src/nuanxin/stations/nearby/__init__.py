"""The public nearby search: an in-process index of the active stations (index), their
shared schedules (hours), kept current from the change log (version, changes), searched
in rings of H3 cells (search). See docs/decisions/0003 and 0010."""
