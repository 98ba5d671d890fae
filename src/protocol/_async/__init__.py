"""The asyncio driver: the engine's operations run over asyncio transports.

Only the I/O loop lives here (connect, write, read, half-close, close, the
keep-alive pool, tasks for a session's stdin); what to send and what an
answer means is the sans-I/O engine's, shared with the sync driver.
"""
