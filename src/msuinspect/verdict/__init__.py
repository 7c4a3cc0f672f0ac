"""The host verdict: could a Windows Server 2008 SP2 host validate and install a package?"""
