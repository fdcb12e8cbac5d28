// main.cpp — `v4lab` entry point; everything else is in v4lab_cli_lib (cli.cpp, cmd_*.cpp).
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) { return v4lab::cli::run_cli(argc, argv, std::cout, std::cerr); }
