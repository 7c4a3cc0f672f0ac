"""The host layer: what is known about a Windows Server 2008 SP2 / Vista (6.0) host.

:mod:`msuinspect.host.profile` holds the typed profile every other part reads; the
importers turn real command outputs (``systeminfo``, ``wmic qfe``, ``Get-HotFix``,
``reg query``, ``certutil``, ``slmgr``) into profiles; ``spec`` reads ``--host`` strings,
presets and TOML files.
"""
