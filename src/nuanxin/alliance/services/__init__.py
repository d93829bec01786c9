"""Write use cases of the alliance, one module per concern (after Zulip's zerver/actions):

- partners:  partners, co-building agreements, partner logins
- resources: the resource list, and `RESOURCE_SEATS` (common.seats), the one way to take capacity
- routings:  needs sent to partners and their answers (a transition table with history)
- projects:  the project list (a transition table with history), needs, resources,
             milestones; closing resolves the needs through needs.services

Every function is keyword-only and runs in transaction.atomic; refusals are ServiceErrors.
"""
