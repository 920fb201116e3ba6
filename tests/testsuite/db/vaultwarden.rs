//! vaultwarden
