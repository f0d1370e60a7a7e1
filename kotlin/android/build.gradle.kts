import org.jetbrains.kotlin.gradle.dsl.JvmTarget

// The AAR: the same Kotlin sources as the JVM build (../pom.xml) — the idiomatic layer in
// ../src/main/kotlin plus the UniFFI-generated dev.almanac.ffi package — and the Rust library
// cross-compiled per ABI by cargo-ndk into src/main/jniLibs/<abi>/libalmanac_ffi.so.
// ../scripts/build-aar.sh produces both inputs, then runs `gradle assembleRelease`.
plugins {
    id("com.android.library") version "8.13.0"
    id("org.jetbrains.kotlin.android") version "2.4.21"
}

group = "dev.almanac"
version = "0.1.0"

android {
    namespace = "dev.almanac"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        // Keeps the JNA and generated binding classes that are reached by reflection.
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            // src/main/kotlin: the Android-only AlmanacAndroid (TLS verifier initialisation).
            java.srcDirs("../src/main/kotlin", "src/main/kotlin", "build/generated/uniffi")
            // jniLibs: the default src/main/jniLibs, filled by `cargo ndk -o`.
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

// rustls-platform-verifier's Kotlin half (org.rustls.platformverifier.*), which its Rust half
// calls through JNI to reach Android's X509TrustManager. Its version must be the one of the
// `rustls-platform-verifier-android` crate in the workspace's Cargo.lock (the verifier's
// README, "Gradle Setup"): read from there, not written twice.
abstract class RustlsVersion : ValueSource<String, RustlsVersion.Params> {
    interface Params : ValueSourceParameters {
        val lockFile: RegularFileProperty
    }

    override fun obtain(): String {
        val lines = parameters.lockFile.get().asFile.readLines()
        val at = lines.indexOfFirst { it.trim() == "name = \"rustls-platform-verifier-android\"" }
        return lines.drop(at + 1).firstOrNull { it.trimStart().startsWith("version = ") }
            ?.substringAfter('"')?.substringBefore('"')
            ?.takeIf { at >= 0 && it.isNotEmpty() }
            ?: error("rustls-platform-verifier-android not found in ../../Cargo.lock")
    }
}

val rustlsPlatformVerifierVersion = providers.of(RustlsVersion::class.java) {
    parameters.lockFile.set(layout.projectDirectory.file("../../Cargo.lock"))
}

configurations.configureEach {
    resolutionStrategy.eachDependency {
        // The verifier's README names the group both "rustls" and "org.rustls".
        if (requested.group in setOf("rustls", "org.rustls") && requested.name == "rustls-platform-verifier") {
            useVersion(rustlsPlatformVerifierVersion.get())
            because("the Kotlin half must match the rustls-platform-verifier-android crate")
        }
    }
}

dependencies {
    // Unversioned on purpose: the resolution rule above picks Cargo.lock's version.
    implementation("rustls:rustls-platform-verifier")
    // The AAR flavour of JNA carries libjnidispatch.so for every Android ABI.
    api("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}
