package io.relaymesh.cli.e2e;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless Chromium driven by its chromedriver, each browser with a fresh profile (no
 * cookies, no logins). The relay's self-signed certificate is trusted by its public-key hash
 * ({@code --ignore-certificate-errors-spki-list}), not by ignoring certificate errors in general.
 * Missing browser: the test is skipped with the reason, except under CI ({@code CI=true}, where
 * {@code .ci/run} installs it) where it fails.
 */
final class Browser {

  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  private Browser() {}

  static void assumeInstalled() {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if (!present && "true".equals(System.getenv("CI"))) {
      Assertions.fail("CI=true but " + CHROMIUM + " / " + CHROMEDRIVER + " are missing: .ci/run"
          + " should have installed the Debian packages chromium and chromium-driver");
    }
    Assumptions.assumeTrue(present, "browser tests need Debian's chromium and chromium-driver ("
        + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install chromium chromium-driver");
  }

  /** A fresh headless browser that trusts the certificate {@code certPem} and nothing extra. */
  static ChromeDriver open(Path profileParent, String certPem) throws IOException {
    Path profile = Files.createTempDirectory(profileParent, "chromium-");
    ChromeOptions o = new ChromeOptions();
    o.setBinary(CHROMIUM.toFile());
    o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--user-data-dir=" + profile, "--window-size=1200,900",
        "--ignore-certificate-errors-spki-list=" + spkiHash(certPem));
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .withLogFile(profileParent.resolve(profile.getFileName() + "-chromedriver.log").toFile())
        .build();
    ChromeDriver d = new ChromeDriver(service, o);
    d.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
    d.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
    return d;
  }

  /** base64(SHA-256(SubjectPublicKeyInfo)) of the first certificate in {@code pem}. */
  static String spkiHash(String pem) {
    try {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
      byte[] d = MessageDigest.getInstance("SHA-256").digest(c.getPublicKey().getEncoded());
      return Base64.getEncoder().encodeToString(d);
    } catch (Exception e) {
      throw new IllegalStateException("cannot read the relay certificate", e);
    }
  }

  static void quit(ChromeDriver d) {
    if (d != null) {
      try {
        d.quit();
      } catch (RuntimeException e) {
        // already gone
      }
    }
  }
}
