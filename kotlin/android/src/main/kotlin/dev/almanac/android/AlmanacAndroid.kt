package dev.almanac.android

import android.content.Context

/**
 * Android's one-time setup, to call from `Application.onCreate` before the first `wss://`
 * sync: Almanac checks the server's certificate with Android's own trust store (the same
 * decisions as the system and other apps, user-installed CAs included per the app's network
 * security config), which its Rust side reaches through JNI with the app's [Context].
 * Without it, `syncOnce` over `wss://` fails with [dev.almanac.AlmanacException.Sync].
 * `ws://` (loopback, tests) needs nothing. Calling it again is harmless.
 *
 * Not run on a device yet (kotlin/README.md says what was verified).
 */
object AlmanacAndroid {
    init {
        // The same library JNA loads for the generated bindings; the system loader maps it once.
        System.loadLibrary("almanac_ffi")
    }

    fun initialize(context: Context) {
        initializeTls(context.applicationContext)
    }

    @JvmStatic
    private external fun initializeTls(context: Context)
}
