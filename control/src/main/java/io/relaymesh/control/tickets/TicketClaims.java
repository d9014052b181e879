package io.relaymesh.control.tickets;

import java.time.Instant;
import java.util.List;

/**
 * What a connection ticket grants: user {@code username} may open connections to {@code port}
 * of agent {@code agent} of workspace {@code workspace} ({@code owner/name}) through relays of
 * the audience, until {@code expiresAt}. Claim names are listed in {@code docs/api.md}.
 */
public record TicketClaims(
    String ticketId,
    String issuer,
    String username,
    long userId,
    String workspace,
    long workspaceId,
    String agent,
    long agentId,
    int port,
    List<String> audience,
    Instant issuedAt,
    Instant expiresAt) {

  public static final String CLAIM_USER_ID = "uid";
  public static final String CLAIM_WORKSPACE = "workspace";
  public static final String CLAIM_WORKSPACE_ID = "workspace_id";
  public static final String CLAIM_AGENT = "agent";
  public static final String CLAIM_AGENT_ID = "agent_id";
  public static final String CLAIM_PORT = "port";
  /** Audience that every relay accepts. */
  public static final String ALL_RELAYS = "relaymesh:relays";
  /** Audience of tickets for the relays of one region. */
  public static String regionAudience(String region) {
    return "relaymesh:region:" + region;
  }
}
