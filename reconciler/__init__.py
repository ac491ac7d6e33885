"""personalize-gitops: GitOps for Amazon Personalize."""

__version__ = "0.1.0"
