"""The mail server of a host, along Postfix's programs."""
