package io.relaymesh.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A workspace as users name it: {@code name} (their own), {@code owner/name}, with an optional
 * {@code .agent} suffix; also the SSH host form {@code relaymesh.[owner--]name[.agent]} that
 * {@code config-ssh} sets up and OpenSSH passes to {@code ssh --stdio %h}.
 *
 * @param owner the owner, or null for the caller's own workspace
 * @param agent the agent, or null for the default agent
 */
record WorkspaceRef(String owner, String name, String agent) {

  static final String HOST_PREFIX = "relaymesh.";
  private static final String NAME = "[a-z0-9]+(?:-[a-z0-9]+)*";
  private static final Pattern FORM = Pattern.compile(
      "(?:(" + NAME + ")(?:/|--))?(" + NAME + ")(?:\\.(" + NAME + "))?");

  static WorkspaceRef parse(String text) {
    String s = text.startsWith(HOST_PREFIX) ? text.substring(HOST_PREFIX.length()) : text;
    Matcher m = FORM.matcher(s);
    if (!m.matches()) {
      throw new CliException("invalid workspace '" + text + "': expected NAME, OWNER/NAME or "
          + "NAME.AGENT (lowercase letters, digits and single dashes)");
    }
    return new WorkspaceRef(m.group(1), m.group(2), m.group(3));
  }

  /** The {@code workspace} field of a ticket request: {@code name} or {@code owner/name}. */
  String workspace() {
    return owner == null ? name : owner + "/" + name;
  }

  /** The agent to reach, {@code main} when none was named. */
  String agentOrDefault() {
    return agent == null ? "main" : agent;
  }

  /** The SSH host alias matched by the {@code config-ssh} block. */
  String sshHost() {
    return HOST_PREFIX + (owner == null ? name : owner + "--" + name)
        + (agent == null ? "" : "." + agent);
  }

  @Override
  public String toString() {
    return workspace() + (agent == null ? "" : "." + agent);
  }
}
