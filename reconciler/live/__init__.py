"""Reading the live account through boto3: `read_live(clients, desired, concurrency=..., now=...)`."""
