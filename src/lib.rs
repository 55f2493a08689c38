//! hindsight: a self-hosted incident timeline and postmortem tracker.

pub mod admin;
pub mod alerts;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod escalations;
pub mod incidents;
pub mod insights;
pub mod markdown;
pub mod openapi;
pub mod ops;
pub mod postmortems;
pub mod root_causes;
pub mod routes;
pub mod settings;
pub mod tasks;
pub mod time;
pub mod timeline;
pub mod web;
pub mod webhooks;
