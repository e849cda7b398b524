"""Synthetic tourism datasets for the European Tourism Data Space connector.

Three generators produce realistic-looking, entirely synthetic sample data (see
``examples/README.md``):

- :func:`etds_examples.barometer.generate_barometer`: weekly campsite booking barometer;
- :func:`etds_examples.indicators.generate_indicators`: sustainable tourism indicators;
- :func:`etds_examples.presence.generate_presence`: daily visitor presence from a mobile network.

:mod:`etds_examples.geography` loads the French départements reference file. Importing this
package has no side effects; the generators are imported from their own modules.
"""
