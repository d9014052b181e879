package io.relaymesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code relaymesh} executable. */
@Command(
    name = "relaymesh",
    mixinStandardHelpOptions = true,
    version = "relaymesh 0.1.0-SNAPSHOT",
    description = "Tunnel and connection proxy for remote development workspaces.")
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
