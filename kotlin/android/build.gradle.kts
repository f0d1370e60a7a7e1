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
            java.srcDirs("../src/main/kotlin", "build/generated/uniffi")
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

dependencies {
    // The AAR flavour of JNA carries libjnidispatch.so for every Android ABI.
    api("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}
