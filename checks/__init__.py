"""Built-in check kinds, one module per family.

Every module here exposes ``KINDS``: a sequence of check classes (see
``gonogo.context.CheckKind``). The registry discovers the modules by listing this
package, so adding a family is adding a module. Modules import their heavy
clients (hvac, psycopg, prometheus-api-client) inside ``run`` so that loading the
registry stays cheap.
"""
