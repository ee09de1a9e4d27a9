"""The Textual app of Release Cockpit: screens render run state and send intents.

Nothing here runs a subprocess or makes an HTTP request; disk IO goes through
the core in worker threads, and every change arrives by reading the journal back.
"""
