"""HR-driven user provisioning to on-prem Active Directory and Entra ID (the product)."""
