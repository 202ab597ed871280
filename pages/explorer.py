"""Placeholder until this page's issue lands."""

import streamlit as st

st.info("Cette page arrive bientôt.")
