"""personalize-gitops: GitOps for Amazon Personalize."""

__version__ = "0.2.0"
