package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.Iterator;
import java.util.Set;

import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.util.io.resource.PathResource;
import org.apache.sshd.common.util.security.SecurityUtils;

/**
 * The agent's SSH host key: generated once, stored in the agent's state directory in OpenSSH
 * private-key format with mode 0600, and reused on every start so clients see the same
 * fingerprint. Ed25519 when the security providers support it (Bouncy Castle is on the class
 * path), else ECDSA P-256.
 */
public final class HostKeys {
    public static final String ED25519_FILE = "ssh_host_ed25519_key";
    public static final String ECDSA_FILE = "ssh_host_ecdsa_key";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private HostKeys() {
    }

    /** Loads the host key from {@code stateDir}, generating and storing it first if absent. */
    public static KeyPair loadOrCreate(Path stateDir) throws IOException {
        Files.createDirectories(stateDir);
        boolean ed25519 = SecurityUtils.isEDDSACurveSupported();
        Path file = stateDir.resolve(ed25519 ? ED25519_FILE : ECDSA_FILE);
        if (Files.exists(file)) {
            return load(file);
        }
        KeyPair generated;
        try {
            generated = ed25519
                    ? KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256)
                    : KeyUtils.generateKeyPair(KeyPairProvider.ECDSA_SHA2_NISTP256, 256);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot generate the agent SSH host key: " + e.getMessage(), e);
        }
        Path tmp = Files.createTempFile(stateDir, file.getFileName() + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(generated, "relaymesh-agent", null, out);
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot encode the agent SSH host key: " + e.getMessage(), e);
            }
            try {
                // readers see either no file or the whole key, never a partial one
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return load(file);
    }

    private static KeyPair load(Path file) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (!perms.equals(OWNER_ONLY)) {
            Files.setPosixFilePermissions(file, OWNER_ONLY);
        }
        try (InputStream in = Files.newInputStream(file)) {
            Iterable<KeyPair> keys = SecurityUtils.loadKeyPairIdentities(null, new PathResource(file), in, null);
            Iterator<KeyPair> it = keys == null ? null : keys.iterator();
            if (it == null || !it.hasNext()) {
                throw new IOException("agent SSH host key file " + file + " holds no key; delete it to generate a new one");
            }
            return it.next();
        } catch (GeneralSecurityException e) {
            throw new IOException("agent SSH host key file " + file + " cannot be read (" + e.getMessage()
                    + "); delete it to generate a new one", e);
        }
    }
}
