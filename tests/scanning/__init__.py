"""Tests of the scan engine."""
