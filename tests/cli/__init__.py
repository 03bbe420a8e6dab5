"""Tests of the emmi command line."""
