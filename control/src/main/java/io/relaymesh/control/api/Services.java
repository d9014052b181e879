package io.relaymesh.control.api;

import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.apps.AppAccess;
import io.relaymesh.control.store.ConnectionStore;
import io.relaymesh.control.store.Db;
import io.relaymesh.control.store.HandoffStore;
import io.relaymesh.control.store.RelayStore;
import io.relaymesh.control.store.SessionStore;
import io.relaymesh.control.store.SettingsStore;
import io.relaymesh.control.store.ShareStore;
import io.relaymesh.control.store.UserStore;
import io.relaymesh.control.store.WorkspaceStore;
import io.relaymesh.control.tickets.SigningKeys;
import io.vertx.core.Vertx;

/** Everything the HTTP handlers use. */
public record Services(
    Vertx vertx,
    ControlConfig config,
    String accessUrl,
    Db db,
    UserStore users,
    SessionStore sessions,
    WorkspaceStore workspaces,
    RelayStore relays,
    ConnectionStore connections,
    SigningKeys keys,
    ShareStore shares,
    SettingsStore settings,
    HandoffStore handoffs,
    AppAccess apps,
    ControlMetrics metrics,
    /* the Flyway schema version this build migrated to; /readyz wants at least this */
    String schemaVersion) {}
