/** Connecting tunnel streams to sockets with end-to-end back-pressure. */
package io.relaymesh.proxy.pipe;
