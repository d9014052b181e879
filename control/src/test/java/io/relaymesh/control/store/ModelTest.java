package io.relaymesh.control.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.auth.Passwords;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ModelTest {

  @Test
  void userToStringHidesThePasswordHash() {
    String hash = Passwords.hash("correct horse battery");
    Model.User u = new Model.User(7, "alice", true, Instant.EPOCH, hash);
    assertThat(u.toString()).contains("alice").doesNotContain(hash)
        .doesNotContain(hash.substring(hash.lastIndexOf('$') + 1));
    assertThat(u.toJson().encode()).doesNotContain(hash);
  }
}
