//! Importers of other tools' settings. Each turns a file into a typed preview; nothing is saved
//! here — the worker and the CLI write only what the user confirmed.

pub mod all_api_hub;
