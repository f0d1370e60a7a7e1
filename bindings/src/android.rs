//! Android only: the one-time initialisation of the platform certificate verifier that `wss://`
//! sync needs there (rustls-platform-verifier asks Android's `X509TrustManager` through JNI, so
//! it must hold the JVM and the app's `Context` before the first connection). Kotlin calls it
//! as `AlmanacAndroid.initialize(context)` (kotlin/android); see kotlin/README.md.
//!
//! Not compiled on this Linux machine (it needs the Android NDK); written to the verifier's
//! documented entry point for jni 0.22.

use jni::EnvUnowned;
use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};

/// `dev.almanac.android.AlmanacAndroid.initializeTls(Context)`. A failure is thrown to Kotlin
/// as a `RuntimeException` (never a crash); calling it again is harmless.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_almanac_android_AlmanacAndroid_initializeTls<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    env.with_env(|env| almanac_client::android_tls::init_with_env(env, context))
        .resolve::<ThrowRuntimeExAndDefault>();
}
