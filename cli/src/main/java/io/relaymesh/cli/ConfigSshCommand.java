package io.relaymesh.cli;

import io.relaymesh.cli.sshconfig.SshConfigFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh config-ssh}: the managed {@code Host relaymesh.*} block in ~/.ssh/config. */
@Command(name = "config-ssh", mixinStandardHelpOptions = true,
    description = {"Add or update a managed 'Host relaymesh.*' block in your OpenSSH config so"
        + " that 'ssh relaymesh.WORKSPACE' (and VS Code / JetBrains Gateway) go through Relaymesh.",
        "Everything outside the block is left untouched."})
final class ConfigSshCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Option(names = "--ssh-config", paramLabel = "FILE", description = "default ~/.ssh/config")
  Path sshConfig;

  @Option(names = {"-y", "--yes"}, description = "Write without asking.")
  boolean yes;

  @Option(names = "--dry-run", description = "Only show the change as a diff.")
  boolean dryRun;

  @Option(names = "--remove", description = "Remove the managed block.")
  boolean remove;

  @Override
  public Integer call() throws IOException {
    Path file = sshConfig != null ? sshConfig
        : Path.of(main.env.vars().getOrDefault("HOME", System.getProperty("user.home")), ".ssh", "config");
    String before = SshConfigFile.read(file);
    String after;
    try {
      after = remove ? SshConfigFile.remove(before)
          : SshConfigFile.update(before, SshConfigFile.block(Self.command(main.env)));
    } catch (IllegalArgumentException e) {
      throw new CliException(file + ": " + e.getMessage());
    }
    String diff = SshConfigFile.diff(file.toString(), before, after);
    if (diff.isEmpty()) {
      main.env.out().println(file + " is up to date");
      return 0;
    }
    if (dryRun) {
      main.env.out().print(diff);
      return 0;
    }
    if (!yes) {
      if (main.env.console() == null) {
        throw new CliException("not writing " + file + " without confirmation: pass -y "
            + "(or --dry-run to see the change)");
      }
      main.env.out().print(diff);
      String answer = main.env.console().readLine("Write these changes to %s? [y/N] ", file);
      if (answer == null || !answer.trim().equalsIgnoreCase("y")) {
        main.env.out().println("nothing written");
        return 1;
      }
    }
    SshConfigFile.write(file, after);
    main.env.out().println(remove ? "removed the relaymesh block from " + file
        : "updated " + file + ": 'ssh relaymesh.WORKSPACE' now goes through Relaymesh");
    return 0;
  }
}
