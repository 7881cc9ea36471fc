//! Importers' previews: what an import of another tool's settings would create or change.

pub mod all_api_hub;
