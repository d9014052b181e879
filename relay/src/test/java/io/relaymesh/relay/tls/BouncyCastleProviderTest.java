package io.relaymesh.relay.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.Security;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;

/**
 * {@code relaymesh dev} runs the relay next to components that register BouncyCastle as a JCA
 * provider (the agent's SSH server); EC keys must still load as {@code EC} keys that match their
 * certificate.
 */
class BouncyCastleProviderTest {

  @Test
  void ecKeyLoadsWithBouncyCastleRegisteredFirst() throws Exception {
    boolean added = Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null;
    if (added) {
      Security.insertProviderAt(new BouncyCastleProvider(), 1);
    }
    try {
      PemMaterial generated = SelfSigned.generate(List.of("localhost"), Instant.now());
      PemMaterial parsed = PemMaterial.parse("cert", generated.certificateChainPem().getBytes(),
          "key", generated.privateKeyPkcs8Pem().getBytes());
      assertThat(parsed.privateKey().getAlgorithm()).isEqualTo("EC");
      assertThat(parsed.sha256Fingerprint()).isEqualTo(generated.sha256Fingerprint());
    } finally {
      if (added) {
        Security.removeProvider(BouncyCastleProvider.PROVIDER_NAME);
      }
    }
  }
}
