package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * A Linux pseudo-terminal pair opened with {@code posix_openpt}; the child process gets the slave
 * ({@link #slavePath()}) as its controlling terminal (see {@link PtyProcessCommand}), the agent
 * keeps the master.
 *
 * <p>Threading: {@link #read} and {@link #write} may run concurrently on two dedicated threads;
 * each waits with {@code poll} in short slices so that {@link #close} (any thread) never races a
 * blocked system call on a reused descriptor.
 */
final class Pty implements AutoCloseable {
    // Linux values (x86_64 and aarch64 share them)
    private static final int O_RDWR = 2;
    private static final int O_NOCTTY = 0x100;
    private static final int O_CLOEXEC = 0x80000;
    private static final long TIOCSWINSZ = 0x5414;
    private static final long TIOCGWINSZ = 0x5413;
    private static final short POLLIN = 0x1;
    private static final short POLLOUT = 0x4;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int POLL_SLICE_MS = 200;

    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int posix_openpt(int flags) throws LastErrorException;

        int grantpt(int fd) throws LastErrorException;

        int unlockpt(int fd) throws LastErrorException;

        int ptsname_r(int fd, byte[] buf, NativeLong len);

        int ioctl(int fd, NativeLong request, Pointer arg) throws LastErrorException;

        NativeLong read(int fd, byte[] buf, NativeLong count) throws LastErrorException;

        NativeLong write(int fd, byte[] buf, NativeLong count) throws LastErrorException;

        int poll(Pointer fds, NativeLong nfds, int timeoutMs) throws LastErrorException;

        int open(String path, int flags) throws LastErrorException;

        int close(int fd);

        int kill(int pid, int sig);
    }

    private final int master;
    private final String slavePath;
    /** The agent's own handle on the slave (O_NOCTTY): keeps the pty alive until the child has it. */
    private int slaveHold = -1;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;

    private Pty(int master, String slavePath) {
        this.master = master;
        this.slavePath = slavePath;
    }

    /** Opens a new pseudo-terminal pair sized {@code cols} x {@code rows}. */
    static Pty open(int cols, int rows) throws IOException {
        LibC c = LibC.INSTANCE;
        int fd;
        try {
            fd = c.posix_openpt(O_RDWR | O_NOCTTY);
        } catch (LastErrorException e) {
            throw new IOException("cannot allocate a pseudo-terminal (posix_openpt): errno " + e.getErrorCode(), e);
        }
        try {
            c.grantpt(fd);
            c.unlockpt(fd);
            byte[] name = new byte[128];
            int rc = c.ptsname_r(fd, name, new NativeLong(name.length));
            if (rc != 0) {
                throw new IOException("ptsname_r failed: " + rc);
            }
            int len = 0;
            while (len < name.length && name[len] != 0) {
                len++;
            }
            Pty pty = new Pty(fd, new String(name, 0, len, java.nio.charset.StandardCharsets.US_ASCII));
            // Without an open slave the master reports EOF/EIO at once: hold one until the child
            // has opened its own. O_NOCTTY: the pty must never become the agent's terminal.
            pty.slaveHold = c.open(pty.slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC);
            pty.resize(cols, rows);
            return pty;
        } catch (LastErrorException e) {
            c.close(fd);
            throw new IOException("cannot set up the pseudo-terminal: errno " + e.getErrorCode(), e);
        } catch (IOException | RuntimeException e) {
            c.close(fd);
            throw e;
        }
    }

    /**
     * Drops the agent's handle on the slave (once the child runs, or has exited): from then on
     * {@link #read} reports EOF when the last process using the terminal closes it.
     */
    synchronized void releaseSlave() {
        if (slaveHold >= 0) {
            LibC.INSTANCE.close(slaveHold);
            slaveHold = -1;
        }
    }

    /** The slave device, e.g. {@code /dev/pts/3}. */
    String slavePath() {
        return slavePath;
    }

    /** Sets the window size; the kernel sends SIGWINCH to the terminal's foreground job. */
    void resize(int cols, int rows) throws IOException {
        Memory ws = new Memory(8);
        ws.setShort(0, (short) clamp(rows));
        ws.setShort(2, (short) clamp(cols));
        ws.setShort(4, (short) 0);
        ws.setShort(6, (short) 0);
        lock.readLock().lock();
        try {
            if (closed) {
                return;
            }
            LibC.INSTANCE.ioctl(master, new NativeLong(TIOCSWINSZ), ws);
        } catch (LastErrorException e) {
            throw new IOException("TIOCSWINSZ failed: errno " + e.getErrorCode(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The current window size as {cols, rows}. */
    int[] size() throws IOException {
        Memory ws = new Memory(8);
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IOException("pty closed");
            }
            LibC.INSTANCE.ioctl(master, new NativeLong(TIOCGWINSZ), ws);
            return new int[] {Short.toUnsignedInt(ws.getShort(2)), Short.toUnsignedInt(ws.getShort(0))};
        } catch (LastErrorException e) {
            throw new IOException("TIOCGWINSZ failed: errno " + e.getErrorCode(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(v, 0xFFFF));
    }

    /**
     * Reads what the terminal's programs wrote. Returns the byte count, or -1 once every slave
     * side is closed (the kernel reports EIO) or the pty was closed.
     */
    int read(byte[] buf) {
        for (;;) {
            lock.readLock().lock();
            try {
                if (closed) {
                    return -1;
                }
                if (!ready(POLLIN)) {
                    continue;
                }
                long n = LibC.INSTANCE.read(master, buf, new NativeLong(buf.length)).longValue();
                return n <= 0 ? -1 : (int) n;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR || e.getErrorCode() == EAGAIN) {
                    continue;
                }
                return -1; // EIO: no process holds the slave any more
            } finally {
                lock.readLock().unlock();
            }
        }
    }

    /** Writes all of {@code len} bytes (keyboard input) to the terminal; false once closed. */
    boolean write(byte[] buf, int off, int len) {
        byte[] chunk = off == 0 ? buf : java.util.Arrays.copyOfRange(buf, off, off + len);
        int done = 0;
        while (done < len) {
            lock.readLock().lock();
            try {
                if (closed) {
                    return false;
                }
                if (!ready(POLLOUT)) {
                    continue;
                }
                byte[] rest = done == 0 ? chunk : java.util.Arrays.copyOfRange(chunk, done, len);
                long n = LibC.INSTANCE.write(master, rest, new NativeLong(len - done)).longValue();
                if (n > 0) {
                    done += (int) n;
                }
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EINTR && e.getErrorCode() != EAGAIN) {
                    return false;
                }
            } finally {
                lock.readLock().unlock();
            }
        }
        return true;
    }

    /** Waits at most one poll slice for {@code event}; the caller holds the read lock. */
    private boolean ready(short event) {
        Memory pfd = new Memory(8);
        pfd.setInt(0, master);
        pfd.setShort(4, event);
        pfd.setShort(6, (short) 0);
        try {
            int rc = LibC.INSTANCE.poll(pfd, new NativeLong(1), POLL_SLICE_MS);
            // any revents (including POLLHUP/POLLERR) means the next read/write will not block
            return rc > 0 && pfd.getShort(6) != 0;
        } catch (LastErrorException e) {
            return false;
        }
    }

    /** Sends {@code signal} to process {@code pid}; false if it does not exist any more. */
    static boolean kill(long pid, int signal) {
        return LibC.INSTANCE.kill((int) pid, signal) == 0;
    }

    /** Closes the master: the kernel hangs up the terminal (SIGHUP to its session). Idempotent. */
    @Override
    public void close() {
        releaseSlave();
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                LibC.INSTANCE.close(master);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
