"""`qa-pipeline serve`: the review application over the DuckDB file (issue 24).

- users: who may sign in and in what role (lead, reviewer, agent, viewer), kept in a file beside the
  database that `qa-pipeline users` manages; passwords as scrypt hashes (hashlib)
- sessions: signed-in browsers and the CSRF token each form carries, held by the application process
- data: what the pages read (the KPI views, read-only) and the reviews they write
- app: the Starlette application and its pages (server-rendered Jinja2 templates, no JavaScript build)
"""
