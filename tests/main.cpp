// main.cpp — Catch2 entry point for the v4lab test suite.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
