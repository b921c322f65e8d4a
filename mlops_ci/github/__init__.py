"""Everything GitHub: the Actions runtime and the REST/GraphQL API.

``actions`` (outputs, step summary, annotations, masking; and its local stand-in), ``context``
(which event and repository a command runs for), ``api`` (the REST/GraphQL adapter, the only
module here that opens a connection), ``checks`` (check runs branch protection can require),
``sticky`` (one comment per report), ``comments`` (which thread a report goes to), ``approvals`` (fork-PR approvals as commit statuses),
``settings`` (the repository settings the audit reads). May import root modules; never ``commands``.
"""
